"""The email hash a suppression list keeps."""

from leadflow_shared.privacy import email_hash


def test_an_address_hashes_the_same_whatever_its_case_and_surrounding_spaces() -> None:
    assert email_hash(" Dana.Kovacs@Acme.example ") == email_hash("dana.kovacs@acme.example")


def test_the_hash_does_not_contain_the_address() -> None:
    digest = email_hash("dana.kovacs@acme.example")
    assert len(digest) == 64
    assert "dana" not in digest
