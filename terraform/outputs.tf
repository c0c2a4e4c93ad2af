output "app_name" {
  description = "Name of the deployed application"
  value       = juju_application.ckf_migrator.name
}

# The charm declares no relation endpoints (charmcraft.yaml has no provides, requires or peers):
# it works through the Juju API and the Kubernetes API instead. The outputs exist so that a root
# module composes this one as it does other charms' modules.
output "provides" {
  description = "Endpoints the charm provides, by Terraform-friendly name (none)"
  value       = {}
}

output "requires" {
  description = "Endpoints the charm requires, by Terraform-friendly name (none)"
  value       = {}
}
