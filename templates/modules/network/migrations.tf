# State written before the shared kms-key submodule moves to it in place.

moved {
  from = aws_kms_key.logs
  to   = module.logs_key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.logs
  to   = module.logs_key.aws_kms_alias.this
}
