"""The one error type that reaches the user: a single line naming the problem and the fix."""


class UserError(Exception):
    """Bad input or environment. The CLI prints ``str(self)`` on one line and exits with code 2.

    Raise it *before* writing anything, so that nothing is lost or overwritten.
    Never put a secret (API key, token, password) in the message.
    """

    exit_code = 2

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(problem if not fix else f"{problem}. {fix}")
