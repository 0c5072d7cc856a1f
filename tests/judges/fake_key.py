"""The fake API key the judges tests put in the environment (and look for in logs and files)."""

SECRET = "sk-test-SECRET-d41d8cd98f00b204"
KEY_ENV = "JUDGES_TEST_API_KEY"
