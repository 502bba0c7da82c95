app_name = "care_household"
urlpatterns: list = []
