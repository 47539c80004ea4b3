"""Marketing DAGs built by the shared factory in helpers/factory_lib.py."""
from helpers.factory_lib import make_marketing_dag

google_ads = make_marketing_dag("google_ads")
meta_ads = make_marketing_dag("meta_ads", schedule="30 5 * * *")
