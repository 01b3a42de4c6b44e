//! Wire formats as zero-copy views.
