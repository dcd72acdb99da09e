"""The admin dashboard (/admin): KPIs against targets, charts, conversations, handoffs, unanswered questions."""
