"""The custom TFX components of the DAG; `modules` holds the code the stock ones load."""
