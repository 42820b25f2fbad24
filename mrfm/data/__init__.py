"""Data files: NeXus-convention HDF5 reading and writing."""
