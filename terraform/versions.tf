terraform {
  required_version = ">= 1.5"
  required_providers {
    juju = {
      source = "juju/juju"
      # 1.0 replaced juju_application's `model` with `model_uuid`, which main.tf uses; 2.x
      # changes no resource and adds Juju 4 controllers.
      version = ">= 1.0, < 3.0"
    }
  }
}
