from django.urls import path

from jiayuan.supplies import views

app_name = "supplies"
urlpatterns = [
    path("", views.index, name="index"),
    path("settings/", views.settings_edit, name="settings"),
    path("leaders/", views.leader_list, name="leaders"),
    path("leaders/new/", views.leader_create, name="leader_create"),
    path("leaders/<int:leader_id>/", views.leader_detail, name="leader"),
    path("leaders/<int:leader_id>/review/", views.leader_review, name="leader_review"),
    path("leaders/<int:leader_id>/documents/", views.leader_document_add, name="leader_document_add"),
    path("leaders/<int:leader_id>/propose/", views.group_buy_propose, name="propose"),
    path("documents/<int:document_id>/", views.document_download, name="document"),
    path("bidding/", views.bidding, name="bidding"),
    path("group-buys/<int:group_buy_id>/", views.group_buy_detail, name="group_buy"),
    path("group-buys/<int:group_buy_id>/do/<str:action>/", views.group_buy_action, name="group_buy_action"),
    path("group-buys/<int:group_buy_id>/proxy/", views.proxy_order, name="proxy_order"),
    path("group-buys/<int:group_buy_id>/sorting/", views.sorting, name="sorting"),
    path("group-buys/<int:group_buy_id>/deliver/<int:building_id>/", views.building_deliver, name="building_deliver"),
    path("orders/<int:order_id>/paid/", views.order_paid, name="order_paid"),
    path("orders/<int:order_id>/cancel/", views.order_cancel, name="order_cancel"),
    path("checklist/", views.checklist, name="checklist"),
    path("handouts/", views.handout_list, name="handouts"),
    path("handouts/<int:round_id>/", views.handout_detail, name="handout"),
    path("handouts/<int:round_id>/receive/", views.handout_receive, name="handout_receive"),
    path("handouts/<int:round_id>/undo/", views.handout_undo, name="handout_undo"),
    path("stock/", views.stock, name="stock"),
    path("stock/<int:stock_id>/", views.stock_detail, name="stock_item"),
    path("appointments/", views.campaign_list, name="campaigns"),
    path("appointments/<int:campaign_id>/", views.campaign_detail, name="campaign"),
    path("bookings/<int:booking_id>/collect/", views.booking_collect, name="booking_collect"),
]
