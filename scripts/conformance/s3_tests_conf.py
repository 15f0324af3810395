"""Writes the configuration file Ceph's s3-tests reads (S3TEST_CONF) for a running eddy.

s3-tests needs several users, each with its own key pair: a main user, an alternate
user, a tenant user and three IAM users. The key pairs come from `USERS` below, and
`eddy_toml` renders the same pairs as eddy's `additional_credentials`, so eddy accepts
every key the suite signs with. Each user's canonical id and display name are not
invented: they are asked of eddy itself (the `Owner` of ListBuckets signed with that
user's keys), so the suite compares listings and ACLs against what eddy reports.

Usage:
    python3 s3_tests_conf.py eddy-toml > eddy.toml
    python3 s3_tests_conf.py s3tests-conf http://127.0.0.1:PORT > s3tests.conf
"""

import sys
from dataclasses import dataclass
from urllib.parse import urlsplit

REGION = "us-east-1"


@dataclass(frozen=True)
class User:
    section: str
    access_key: str
    secret_key: str
    email: str


# eddy's default credentials (test/test) are the main user's; the others are extra pairs.
USERS = [
    User("s3 main", "test", "test", "main@example.com"),
    User("s3 alt", "S3TESTSALTACCESSKEY1", "s3-tests-alt-secret-key-000000000000000", "alt@example.com"),
    User("s3 tenant", "S3TESTSTENANTACCESS1", "s3-tests-tenant-secret-key-0000000000000", "tenant@example.com"),
    User("iam", "S3TESTSIAMACCESSKEY1", "s3-tests-iam-secret-key-00000000000000000", "iam@example.com"),
    User("iam root", "S3TESTSIAMROOTACCES1", "s3-tests-iam-root-secret-key-000000000000", "root@example.com"),
    User("iam alt root", "S3TESTSIAMALTROOTAC1", "s3-tests-iam-alt-root-secret-key-0000000", "altroot@example.com"),
]


def eddy_toml() -> str:
    extra = ",\n".join(
        f'  {{ access_key_id = "{u.access_key}", secret_access_key = "{u.secret_key}" }}'
        for u in USERS
        if u.section != "s3 main"
    )
    return f'region = "{REGION}"\nadditional_credentials = [\n{extra},\n]\n'


def owner_of(endpoint: str, user: User) -> tuple[str, str]:
    """The canonical id and display name eddy reports for this user's keys."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=user.access_key,
        aws_secret_access_key=user.secret_key,
    )
    owner = client.list_buckets()["Owner"]
    return owner["ID"], owner.get("DisplayName", owner["ID"])


def s3tests_conf(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    lines = [
        "[DEFAULT]",
        f"host = {parts.hostname}",
        f"port = {parts.port}",
        "is_secure = False",
        "ssl_verify = False",
        "",
        "[fixtures]",
        "bucket prefix = s3tests-{random}-",
        "",
    ]
    for user in USERS:
        user_id, display_name = owner_of(endpoint, user)
        lines += [
            f"[{user.section}]",
            f"access_key = {user.access_key}",
            f"secret_key = {user.secret_key}",
            f"user_id = {user_id}",
            f"display_name = {display_name}",
            f"email = {user.email}",
        ]
        if user.section == "s3 main":
            # The location constraint eddy reports for its one region.
            lines.append("api_name = ")
        if user.section == "s3 tenant":
            lines.append("tenant = s3tests")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[1:2] == ["eddy-toml"]:
        sys.stdout.write(eddy_toml())
    elif argv[1:2] == ["s3tests-conf"] and len(argv) == 3:
        sys.stdout.write(s3tests_conf(argv[2]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
