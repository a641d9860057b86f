"""The Slater–Koster spinor tight-binding engine: model, e–ph vertex, sum over states, real-space fields."""
