import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Django, the apps and the libraries are loaded for good: put them out of the cyclic collector's
# sight, so that its full collections (a few a minute under load) walk only what requests made.
# A full collection over everything loaded took 100-300 ms of a page's time (bench/pages.py).
gc.collect()
gc.freeze()
