"""What every streamfn function shares, imported and never copied."""
