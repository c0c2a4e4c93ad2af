variable "app_name" {
  description = "Name of the application in the model"
  type        = string
  default     = "ckf-migrator"
}

variable "base" {
  description = "Base the charm runs on (charmcraft.yaml's base)"
  type        = string
  default     = "ubuntu@24.04"
}

variable "channel" {
  description = "Charmhub channel to deploy the charm from"
  type        = string
  default     = "latest/edge"
}

variable "config" {
  description = "Charm configuration options (config.yaml); juju-credentials takes the URI of a user secret granted to the application"
  type        = map(string)
  default     = {}
}

variable "constraints" {
  description = "Juju constraints for the application; the charm is built for amd64 only"
  type        = string
  default     = "arch=amd64"
}

variable "model_uuid" {
  description = "UUID of the model holding Charmed Kubeflow 1.11 (juju_model's uuid; `juju show-model kubeflow` prints model-uuid)"
  type        = string
}

variable "revision" {
  description = "Charm revision to deploy; null follows the channel"
  type        = number
  default     = null
}

variable "units" {
  description = "Number of units; one is enough, and a Kubernetes Lease keeps two migrations from overlapping anyway"
  type        = number
  default     = 1
}
