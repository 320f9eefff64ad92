"""Data in: readers for the seed format, TSV/CSV and JSONL, and the seed's file names."""

from .readers import (
    DEFAULT_SEPARATOR,
    Columns,
    Dataset,
    Example,
    parse_dataset,
    parse_lines,
    read_dataset,
    read_in_order,
)
from .splits import DataFiles, find_data_files

__all__ = ["DEFAULT_SEPARATOR", "Columns", "DataFiles", "Dataset", "Example", "find_data_files",
           "parse_dataset", "parse_lines", "read_dataset", "read_in_order"]
