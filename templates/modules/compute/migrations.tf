# State written before the shared kms-key submodule moves to it in place.

moved {
  from = aws_kms_key.function
  to   = module.key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.function
  to   = module.key.aws_kms_alias.this
}
