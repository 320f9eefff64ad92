#!/usr/bin/env bash
# The seed's train.sh, unchanged in shape: fine-tune with the weighted loss and evaluate,
# then predict with the fine-tuned model in $OUTPUT_DIR.
#   BERT_BASE_DIR: Google's checkpoint folder (bert_config.json, vocab.txt, bert_model.ckpt.*),
#                  e.g. chinese_L-12_H-768_A-12, or a Hugging Face model folder
#   DATA_DIR:      train_data.txt, dev_data.txt, test_data.txt (text<TAB>label)
#   OUTPUT_DIR:    where the fine-tuned model and results go
#   SEED_EXTRA_FLAGS (optional): more flags for the training command, e.g. --seed=1
set -euo pipefail
cd "$(dirname "$0")"
BERT_BASE_DIR=${BERT_BASE_DIR:?set BERT_BASE_DIR to a model folder}
DATA_DIR=${DATA_DIR:-./data}
OUTPUT_DIR=${OUTPUT_DIR:-./output}
BERT_CONFIG="$BERT_BASE_DIR/bert_config.json"
[ -f "$BERT_CONFIG" ] || BERT_CONFIG="$BERT_BASE_DIR/config.json"  # a Hugging Face folder

python run_classifier_weighted_loss.py \
  --task_name=weightedloss \
  --do_train=true \
  --do_eval=true \
  --data_dir="$DATA_DIR" \
  --vocab_file="$BERT_BASE_DIR/vocab.txt" \
  --bert_config_file="$BERT_CONFIG" \
  --init_checkpoint="$BERT_BASE_DIR/bert_model.ckpt" \
  --max_seq_length=128 \
  --train_batch_size=32 \
  --learning_rate=2e-5 \
  --num_train_epochs=3.0 \
  --output_dir="$OUTPUT_DIR" \
  --weighted_loss=true \
  ${SEED_EXTRA_FLAGS:-}

python run_classifier_weighted_loss.py \
  --task_name=weightedloss \
  --do_predict=true \
  --data_dir="$DATA_DIR" \
  --vocab_file="$BERT_BASE_DIR/vocab.txt" \
  --bert_config_file="$BERT_CONFIG" \
  --init_checkpoint="$OUTPUT_DIR" \
  --max_seq_length=128 \
  --output_dir="$OUTPUT_DIR"
