from leadflow_intake.domain.kpis import SourceRates, source_rates


def test_touches_that_reached_a_known_lead_count_as_duplicates():
    rates = source_rates(touches=8, new_leads=6, merged_leads=0, rejections=0)
    assert rates.duplicate_rate == 0.25


def test_a_new_lead_merged_away_later_counts_as_a_duplicate_too():
    rates = source_rates(touches=8, new_leads=6, merged_leads=1, rejections=0)
    assert rates.duplicate_rate == 0.375


def test_the_rejection_rate_is_the_share_of_all_deliveries_that_went_to_quarantine():
    rates = source_rates(touches=3, new_leads=3, merged_leads=0, rejections=1)
    assert rates == SourceRates(duplicate_rate=0.0, rejection_rate=0.25)


def test_rates_are_rounded_to_four_places():
    rates = source_rates(touches=3, new_leads=2, merged_leads=0, rejections=1)
    assert rates == SourceRates(duplicate_rate=0.3333, rejection_rate=0.25)
    assert source_rates(touches=6, new_leads=6, merged_leads=0, rejections=1).rejection_rate == 0.1429


def test_a_quiet_period_has_rates_of_zero_not_a_division_by_zero():
    assert source_rates(touches=0, new_leads=0, merged_leads=0, rejections=0) == SourceRates(0.0, 0.0)


def test_a_period_of_only_rejections_has_no_duplicates_and_rejects_everything():
    assert source_rates(touches=0, new_leads=0, merged_leads=0, rejections=4) == SourceRates(0.0, 1.0)
