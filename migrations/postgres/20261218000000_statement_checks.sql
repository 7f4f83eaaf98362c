-- Lets one statement refuse itself, rolled back whole, when a condition computed inside it does
-- not hold. A group of appends is written in one statement (src/store/group.rs); it must not
-- commit if one of its idempotent answers could not be kept because a retry took the claim over.
CREATE FUNCTION coprod_require(holds boolean, error_code text, message text) RETURNS boolean
    LANGUAGE plpgsql
AS
$$
BEGIN
    IF NOT holds THEN
        RAISE EXCEPTION USING ERRCODE = error_code, MESSAGE = message;
    END IF;
    RETURN true;
END
$$;
