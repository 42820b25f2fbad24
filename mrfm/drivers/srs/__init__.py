"""Stanford Research Systems instruments: SR830, SR865 lock-ins and SG384 RF source."""
