app_name = "bulletin_household"
urlpatterns: list = []
