"""Response objects and observables: mode responses, RMS, real-space fields, S(Q, ω)."""
