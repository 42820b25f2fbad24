"""attocube instruments: ANC300 stepper controller and IDS3010 interferometer."""
