"""CsvExampleGen for plain and gzipped CSV, with a per-cell audit and a stratified split."""
