# ---- The API's one host name, answered by the active region ----

locals {
  # Fast checks: a dead region is noticed in 3 x 10 s.
  health_check_interval_seconds  = 10
  health_check_failure_threshold = 3
}

resource "aws_route53_record" "validation" {
  zone_id = var.hosted_zone_id
  name    = var.validation_record.name
  type    = var.validation_record.type
  records = [var.validation_record.value]
  ttl     = 300
  # Every region's certificate asks for this same record; one copy serves them all.
  allow_overwrite = true
}

# A region is healthy while it answers its unsigned health route over HTTPS: a region that is
# down or silent fails the probe. (Its API's 5xx alarm would count a standby's own refusals of
# new payments, and stay quiet in a region nobody can reach.) Route 53 moves traffic after
# `failure_threshold` failed probes `request_interval` seconds apart; docs/region-moves.md says
# how long clients then take to follow.
resource "aws_route53_health_check" "region" {
  for_each = var.endpoints

  type              = "HTTPS"
  fqdn              = each.value.health_check.fqdn
  port              = 443
  resource_path     = each.value.health_check.resource_path
  enable_sni        = true
  request_interval  = local.health_check_interval_seconds
  failure_threshold = local.health_check_failure_threshold

  tags = {
    Name = "${var.name}-${each.key}-api"
  }
}

resource "aws_route53_record" "api" {
  # checkov:skip=CKV2_AWS_23:The alias targets each serving region's API custom domain, passed in as a variable checkov cannot follow.
  for_each = var.endpoints

  zone_id         = var.hosted_zone_id
  name            = var.domain
  type            = "A"
  set_identifier  = each.key
  health_check_id = aws_route53_health_check.region[each.key].id

  alias {
    name                   = each.value.target_domain_name
    zone_id                = each.value.target_zone_id
    evaluate_target_health = false
  }

  dynamic "failover_routing_policy" {
    for_each = var.routing == "failover" ? [each.value.failover] : []

    content {
      type = failover_routing_policy.value
    }
  }

  dynamic "weighted_routing_policy" {
    for_each = var.routing == "weighted" ? [each.value.weight] : []

    content {
      weight = weighted_routing_policy.value
    }
  }
}
