# State written before the shared kms-key submodule moves to it in place.

moved {
  from = aws_kms_key.s3
  to   = module.s3_key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.s3
  to   = module.s3_key.aws_kms_alias.this
}

moved {
  from = aws_kms_key.dynamodb
  to   = module.dynamodb_key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.dynamodb
  to   = module.dynamodb_key.aws_kms_alias.this
}
