from smarketing.core.routes import IdRouter
from smarketing.notifications import api

router = IdRouter()
router.register("notifications", api.NotificationViewSet, basename="notification")

urlpatterns = router.urls
