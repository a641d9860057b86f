"""The response kernel: pattern fields on a coarse q grid unfolded by symmetry and interpolated to any q."""
