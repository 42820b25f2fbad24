"""Lake Shore Cryotronics instruments: Model 336 temperature controller."""
