"""A viewset base shared by the apps (kept apart from smarketing.core.api, which DRF's settings
import while viewsets themselves are being defined)."""

from __future__ import annotations

from rest_framework import mixins, viewsets


class ServiceWriteViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Read by everyone; every write goes through the service that checks the person,
    validates and audits. A subclass names its services (`save_rule`, `delete_rule`,
    as staticmethods) and the keyword its services take the object's id by (`id_kwarg`)."""

    pagination_class = None
    id_kwarg = "rule_id"

    def save_rule(self, **kwargs):
        raise NotImplementedError

    def delete_rule(self, **kwargs):
        raise NotImplementedError

    def perform_create(self, serializer):
        serializer.instance = self.save_rule(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = self.save_rule(
            actor=self.request.user, **{self.id_kwarg: serializer.instance.pk}, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        self.delete_rule(actor=self.request.user, **{self.id_kwarg: instance.pk})
