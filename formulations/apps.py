from django.apps import AppConfig


class FormulationsConfig(AppConfig):
    name = "formulations"
