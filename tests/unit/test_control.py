"""Control groups and lift (campaigns/control.py), against published and computed figures."""

import pytest
from scipy import stats

from saleor_crm_plugin.campaigns.control import Arm, held_back, lift


def test_a_customer_stays_in_the_same_group_of_a_flow():
    assert held_back("c1", "winback", 0.2) == held_back("c1", "winback", 0.2)
    assert not any(held_back(f"c{n}", "winback", 0.0) for n in range(1000))


def test_the_held_back_share_is_the_one_asked_and_differs_by_flow():
    customers = [f"customer-{n}" for n in range(100_000)]
    winback = {c for c in customers if held_back(c, "winback", 0.1)}
    birthday = {c for c in customers if held_back(c, "birthday", 0.1)}

    assert len(winback) / len(customers) == pytest.approx(0.1, abs=0.005)
    # two flows hold back customers independently: about 10% of 10% in both
    assert len(winback & birthday) / len(customers) == pytest.approx(0.01, abs=0.002)


@pytest.mark.parametrize("share", [-0.1, 1.0, 1.5], ids=["negative", "all", "above-all"])
def test_a_share_outside_0_to_1_is_refused(share):
    with pytest.raises(ValueError, match="share: "):
        held_back("c1", "winback", share)


@pytest.mark.parametrize(
    ("messaged", "control", "expected"),
    [
        ((56, 70), (48, 80), (0.2, 0.0524, 0.3339)),
        ((9, 10), (3, 10), (0.6, 0.1705, 0.8090)),
    ],
    ids=["newcombe-a", "newcombe-b"],
)
def test_conversion_lift_is_newcombes_hybrid_score_interval(messaged, control, expected):
    """Newcombe (1998), Statistics in Medicine 17, 873-890, table II, method 10."""
    result = lift(Arm(messaged[1], messaged[0]), Arm(control[1], control[0]))
    assert (result.conversion, result.conversion_low, result.conversion_high) == pytest.approx(
        expected, abs=5e-5
    )
    assert result.messaged_rate == messaged[0] / messaged[1]


def _arm(spends: list[float]) -> Arm:
    return Arm(
        len(spends), sum(1 for s in spends if s > 0), sum(spends), sum(s * s for s in spends)
    )


def test_revenue_lift_is_welchs_interval_from_counts_and_sums():
    messaged = [0, 0, 120, 80, 0, 300, 45, 0, 0, 60, 0, 210]
    control = [0, 0, 0, 90, 0, 0, 40, 0, 0, 0]

    result = lift(_arm(messaged), _arm(control))

    welch = stats.ttest_ind(messaged, control, equal_var=False).confidence_interval(0.95)
    assert result.revenue == pytest.approx(sum(messaged) / 12 - sum(control) / 10)
    assert (result.revenue_low, result.revenue_high) == pytest.approx((welch.low, welch.high))
    assert result.control_revenue == pytest.approx(13.0)


def test_an_empty_or_single_customer_group_gives_no_interval():
    result = lift(Arm(0, 0), Arm(5, 1, 50.0, 2500.0))
    assert (result.conversion, result.revenue, result.messaged_rate) == (None, None, None)
    assert result.control_rate == 0.2
    assert lift(Arm(1, 1, 10.0, 100.0), Arm(3, 0)).revenue is None


def test_a_count_of_converted_customers_above_the_group_is_refused():
    with pytest.raises(ValueError, match="converted: 5 of 3 customers"):
        Arm(3, 5)
