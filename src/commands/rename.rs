//! `cubeblob rename ID NEW_NAME`: the name is checked here first (1 to 100
//! characters), so a bad one costs no request; then the updated record is printed.

use anyhow::Result;

use super::Context;
use crate::api::{BlobRef, BLOB_NAME_CHARS};
use crate::cli::RenameArgs;
use crate::exit::{Exit, InputError};
use crate::output::{BlobRecord, BlobWriter, Layout};

pub async fn run(ctx: &Context, args: RenameArgs) -> Result<Exit> {
    let id = BlobRef::parse_id(&args.id)?;
    check_name(&args.new_name)?;
    let client = ctx.client().await?;
    let blob = client.rename_blob(id, &args.new_name).await?;
    let mut writer = BlobWriter::new(&ctx.out, Layout::Detail, false);
    writer.write(BlobRecord::from(&blob).with_public_url(&client))?;
    writer.finish(None)?;
    Ok(Exit::Success)
}

fn check_name(name: &str) -> Result<(), InputError> {
    let chars = name.chars().count();
    if chars == 0 {
        return Err(InputError::Invalid("the new name is empty".into()));
    }
    if chars > *BLOB_NAME_CHARS.end() {
        return Err(InputError::Invalid(format!(
            "the new name has {chars} characters; the most a blob name may have is {}",
            BLOB_NAME_CHARS.end()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_1_to_100_characters_pass() {
        assert!(check_name("").is_err());
        assert!(check_name("a").is_ok());
        assert!(check_name(&"é".repeat(100)).is_ok());
        assert!(check_name(&"a".repeat(101)).is_err());
    }
}
