namespace PerazziSync.Contracts;

/// <summary>How a claimed gun became verified: the values of <c>perazzi_assets.verification_method</c> the product writes.</summary>
public static class VerificationMethods
{
    /// <summary>A POS record named the claimant's confirmed e-mail.</summary>
    public const string PosMatch = "pos_match";

    /// <summary>An operator decided after a review (<c>perazzisync assets verify</c>).</summary>
    public const string DealerReview = "dealer_review";
}
