app_name = "gates_household"
urlpatterns: list = []
