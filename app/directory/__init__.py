"""Reception sites and partner structures: the organisations every other feature refers to."""
