"""Tools for developing the product: the tests, the benchmarks and `manage.py demo` share them."""
