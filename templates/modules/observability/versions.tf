terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
      # aws: the primary region; aws.source: the source region, where replication is measured.
      configuration_aliases = [aws.source]
    }
  }
}
