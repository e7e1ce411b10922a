"""The payment processor behind POST /payments and GET /payments/{transactionId}."""
