"""American Magnetics instruments: Model 430 magnet power supply programmer."""
