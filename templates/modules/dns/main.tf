# ---- The API's one host name, answered by the active region ----

resource "aws_route53_record" "validation" {
  zone_id = var.hosted_zone_id
  name    = var.validation_record.name
  type    = var.validation_record.type
  records = [var.validation_record.value]
  ttl     = 300
  # Every region's certificate asks for this same record; one copy serves them all.
  allow_overwrite = true
}

# A region is healthy while its API's 5xx alarm is not firing: no unauthenticated route is
# opened for Route 53 to probe.
resource "aws_route53_health_check" "region" {
  for_each = var.endpoints

  type                            = "CLOUDWATCH_METRIC"
  cloudwatch_alarm_name           = each.value.health_alarm_name
  cloudwatch_alarm_region         = each.key
  insufficient_data_health_status = "LastKnownStatus"

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
