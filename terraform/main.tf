/**
 * # ckf-migrator Terraform module
 *
 * Deploys the ckf-migrator charm into a Charmed Kubeflow 1.11 model with the Juju Terraform
 * provider (1.x or 2.x: both address the model by UUID).
 *
 * ```hcl
 * data "juju_model" "kubeflow" {
 *   name = "kubeflow"
 * }
 *
 * module "ckf_migrator" {
 *   source     = "git::https://github.com/canonical/ckf-migrator//terraform"
 *   model_uuid = data.juju_model.kubeflow.uuid
 * }
 * ```
 *
 * The charm cannot work until it is given a Juju user: create the user secret and grant it to
 * the application (see the README, "Give it a Juju user"), then set
 * `config = { juju-credentials = "secret:<id>" }`.
 */

resource "juju_application" "ckf_migrator" {
  name        = var.app_name
  model_uuid  = var.model_uuid
  config      = var.config
  constraints = var.constraints
  units       = var.units
  # Not configurable: the migration reads and changes cluster-scoped objects (nodes, Istio's
  # cluster-wide objects, Cilium's configuration in kube-system), which needs trust.
  trust = true

  charm {
    name     = "ckf-migrator"
    base     = var.base
    channel  = var.channel
    revision = var.revision
  }
}
