//! The zone the calendar shows times in: this computer's (the `TZ`
//! variable, else the system setting), UTC if neither names an IANA zone.
//! The one place the desktop asks: the window, the first run's demo week
//! and `concord calendar import` all use `device_zone`.

use chrono_tz::Tz;

pub fn device_zone() -> Tz {
    let from_env = std::env::var("TZ")
        .ok()
        .and_then(|name| name.trim_start_matches(':').parse::<Tz>().ok());
    from_env
        .or_else(|| {
            iana_time_zone::get_timezone()
                .ok()
                .and_then(|name| name.parse::<Tz>().ok())
        })
        .unwrap_or(Tz::UTC)
}

/// Every IANA zone name, sorted, for the pickers.
pub fn all_zones() -> impl Iterator<Item = Tz> {
    chrono_tz::TZ_VARIANTS.iter().copied()
}
