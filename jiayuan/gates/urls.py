app_name = "gates"
urlpatterns: list = []
