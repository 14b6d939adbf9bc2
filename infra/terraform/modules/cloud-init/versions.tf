# Built-in functions only, no provider: this module renders the user-data, so it can be planned
# and tested (terraform test) on a machine that cannot download providers.
terraform {
  required_version = ">= 1.11.0, < 2.0.0"
}
