app_name = "volunteers_household"
urlpatterns: list = []
