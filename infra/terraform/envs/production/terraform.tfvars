# Production inputs. Public keys and address ranges only: no secret belongs here (the AWS role and
# CLOUDFLARE_API_TOKEN come from the environment). Replace the example values with yours.
zone_name = "example.com"

ssh_allowed_cidrs = [
  "198.51.100.0/24", # operators (documentation range: replace)
]

admin_ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReplaceWithTheOperatorPublicKey000000000000 operator"

deploy_ssh_public_keys = [
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReplaceWithTheCiDeployPublicKey00000000000000 deploy@ci",
]
