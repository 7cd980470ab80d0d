from leadflow_intake.domain.dedup import merge_profiles
from leadflow_intake.domain.unmerge import merge_changes, unmerged_profile
from leadflow_shared.contracts.lead import Consent, LeadProfile, QualifyingAnswers

HANA = LeadProfile(
    first_name="Hana",
    last_name="Novak",
    email="hana.novak@brno-tools.example",
    company="Brno Tools",
    answers=QualifyingAnswers(need="inventory tracking"),
    custom_fields={"plan": "trial"},
    is_test=True,
)
HANNA = LeadProfile(
    first_name="Hanna",
    last_name="Novak",
    email="hanna@novak-family.example",
    phone="+420601123456",
    country="CZ",
    answers=QualifyingAnswers(need="a hobby project", budget="none"),
    consent=Consent(email=False),
    custom_fields={"plan": "free", "newsletter": "yes"},
)


def test_a_merge_is_undone_field_by_field_on_the_survivor():
    merged = merge_profiles(HANA, HANNA)
    changes = merge_changes(HANA, merged)
    assert set(changes) == {
        "phone",
        "country",
        "answers.budget",
        "consent.email",
        "custom_fields.newsletter",
        "is_test",
    }
    restored, paths = unmerged_profile(merged, changes)
    assert restored == HANA
    assert set(paths) == set(changes)


def test_a_value_changed_since_the_merge_stays_on_the_survivor():
    merged = merge_profiles(HANA, HANNA)
    changes = merge_changes(HANA, merged)
    corrected = merged.model_copy(update={"country": "SK"})
    restored, paths = unmerged_profile(corrected, changes)
    assert restored.country == "SK"
    assert restored.phone is None
    assert "country" not in paths
