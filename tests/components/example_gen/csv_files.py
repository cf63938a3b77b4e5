"""Small CSV files for the ExampleGen tests."""

import gzip

HEADER = "a,b,label\n"


def write_csv(tmp_path, body: str, name: str = "data.csv") -> str:
    path = tmp_path / name
    text = HEADER + body
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return str(path)
