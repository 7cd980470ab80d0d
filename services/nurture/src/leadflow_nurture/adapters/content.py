"""The content library: templates for the content references the shipped tracks name."""

from __future__ import annotations

GENERIC = "We put together something we think is useful for $company: $content_ref.\n\nHappy reading."

LIBRARY: dict[str, str] = {
    "newsletter/welcome": "Thanks for joining our newsletter. Once a month: what changed, and what works.",
    "newsletter/monthly": "This month's product news, customer stories and one practical guide.",
    "newsletter/case-study": "How a team like $company's cut the time from first call to signed deal.",
    "webinar/roi-for-leaders": "Join our live webinar on building the ROI case; bring your decision maker.",
    "webinar/recording": "The webinar recording, ready to share with your team.",
    "webinar/customer-panel": "Our customers answer your questions live. Save your seat.",
    "drip/business-case": "A one-page template to build the business case at $company.",
    "drip/roi-calculator": "Put your own numbers in our ROI calculator; it takes five minutes.",
    "drip/pricing-options": "Three ways to start small, without a big budget.",
    "drip/budget-planning": "Planning next year's budget? Here is what to set aside.",
    "win-back/whats-new": "A lot has shipped since we last spoke. Here are the highlights.",
    "win-back/roadmap-webinar": "See where the product is going, live, with our product team.",
    "win-back/check-in": "Would another conversation be worth half an hour?",
    "re-engage/still-relevant": "Is this still on your radar? A short reply is enough.",
    "re-engage/best-of": "Our three most useful guides, in one email.",
    "re-engage/last-call": "Should we stop writing? Unsubscribe with one click below.",
}


def template_for(content_ref: str) -> dict[str, str]:
    """A one-entry library for a reference: its template, or a generic body naming the reference."""
    return {content_ref: LIBRARY.get(content_ref, GENERIC.replace("$content_ref", content_ref))}
